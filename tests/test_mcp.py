"""The Studio as an MCP server (issue #15), driven by the `mcp` package's own client.

The app is launched in-process on the simulator (tests/ui_fixtures.py) with the launch options
app.py uses, and an MCP client connects to Gradio's streamable-HTTP endpoint (/gradio_api/mcp/):
the tools are exactly the named endpoints, each described; a run reports progress and returns
the video and its summary; files go in as data: or http(s) URLs; a caller's key travels in the
X-Replicate-Api-Token header, is used for that call only and shows up nowhere; KLING_MCP=0 turns
the endpoint off.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import http.server
import io
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import gradio.processing_utils
import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.types import CallToolResult
from PIL import Image

from kling_ui.core.config import Secret, Settings, load_settings
from kling_ui.replicate.simulator import key_marker
from kling_ui.ui.page import MCP_PATH, mcp_enabled
from tests.sim_fixtures import running_simulator
from tests.ui_fixtures import LaunchedApp, launched_app, make_image, make_video

T = TypeVar("T")

# Every named endpoint is a tool, with its parameters in order; nothing else is.
MORE = ["model", "generate_audio", "shots"]  # issue #25
TOOLS = {
    "text_to_video": ["prompt", "aspect_ratio", "duration", "mode", "auto_fix", *MORE],
    "frames_to_video": ["prompt", "start_image", "end_image", "duration", "mode", "auto_fix",
                         *MORE],
    "references_to_video": ["prompt", "reference_images", "start_image", "aspect_ratio",
                            "duration", "mode", "auto_fix", *MORE],
    "video_reference": ["prompt", "reference_video", "reference_images", "aspect_ratio",
                        "duration", "mode", "keep_original_sound", "auto_fix", "model"],
    "edit_video": ["prompt", "reference_video", "reference_images", "mode",
                   "keep_original_sound", "auto_fix", "model"],
    "motion_report": ["original", "output", "start"],
    "splice_back": ["original", "edited", "start", "audio", "crossfade"],
    "compare_export": ["original", "output", "layout", "audio", "start"],
    "compare_stills": ["original", "output", "start"],
    "grab_frame": ["video", "t"],
    "join_clips": ["clips", "crossfade", "size"],
    # Runs by id (issue #22)
    "get_run": ["run_id", "library_key"],
    "list_runs": ["limit", "status", "tab", "library_key"],
    "cancel_run": ["run_id", "library_key"],
    "estimate_cost": ["tool", "prompt", "start_image", "end_image", "reference_images",
                      "reference_video", "aspect_ratio", "duration", "mode",
                      "keep_original_sound", "auto_fix", *MORE],
}
FILE_TOOLS = set(TOOLS) - {"text_to_video", "get_run", "list_runs", "cancel_run"}


def mcp_url(app: LaunchedApp) -> str:
    return app.url.rstrip("/") + MCP_PATH


@contextlib.asynccontextmanager
async def session(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    async with streamablehttp_client(url, headers=headers) as (read, write, _), \
            ClientSession(read, write) as s:
        await s.initialize()
        yield s


def with_session(url: str, fn: Callable[[ClientSession], Awaitable[T]],
                 headers: dict[str, str] | None = None) -> T:
    async def go() -> T:
        async with session(url, headers) as s:
            return await fn(s)

    return asyncio.run(go())


def call(url: str, tool: str, args: dict[str, Any], headers: dict[str, str] | None = None,
         notes: list[tuple[float, float | None, str | None]] | None = None) -> CallToolResult:
    async def progress(done: float, total: float | None, message: str | None) -> None:
        if notes is not None:
            notes.append((done, total, message))

    return with_session(url, lambda s: s.call_tool(tool, args, progress_callback=progress),
                        headers)


def texts(result: CallToolResult) -> list[str]:
    return [c.text for c in result.content if c.type == "text"]


def video_and_summary(result: CallToolResult) -> tuple[str, dict[str, Any]]:
    """A run tool's content: the output video's URL, then the summary as JSON (issue #22)."""
    assert not result.isError, texts(result)
    url, summary = texts(result)
    return url, json.loads(summary)


def data_url(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def frame_size(result: CallToolResult) -> tuple[int, int]:
    assert not result.isError, texts(result)
    image = next(c for c in result.content if c.type == "image")
    with Image.open(io.BytesIO(base64.b64decode(image.data))) as im:
        assert im.format == "PNG"
        return im.size


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=1.0) as launched:
        yield launched


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(make_video(tmp_path_factory.mktemp("mcp") / "clip.mp4", seconds=3,
                           size=(320, 180), fps=24))


def test_the_tools_are_the_named_endpoints_each_described(app: LaunchedApp) -> None:
    tools = {t.name: t for t in with_session(mcp_url(app), lambda s: s.list_tools()).tools}
    # The UI's private events (tabs, library, keys, checks) are not tools.
    assert set(tools) == set(TOOLS), sorted(tools)
    for name, params in TOOLS.items():
        tool = tools[name]
        assert tool.description and len(tool.description) > 60, name
        props = tool.inputSchema["properties"]
        # The key travels in a header, never as an argument; request and progress are Gradio's.
        assert list(props) == params, (name, list(props))
        for param, schema in props.items():
            assert len(schema.get("description", "")) > 10, (name, param)
        if name in FILE_TOOLS:
            assert "data: URL" in tool.description, name  # how to pass a file is said
        if name in list(TOOLS)[:5]:
            assert "X-Replicate-Api-Token" in tool.description, name
    assert tools["text_to_video"].inputSchema["required"] == ["prompt"]
    assert tools["text_to_video"].inputSchema["properties"]["aspect_ratio"]["enum"] == [
        "16:9", "9:16", "1:1"]
    for name in list(TOOLS)[:5]:  # the model is a closed choice: the profiles' ids (issue #25)
        assert tools[name].inputSchema["properties"]["model"]["enum"] == [
            "kling-o1", "kling-v3-omni"], name


def test_the_mcp_schema_declares_the_key_header(app: LaunchedApp) -> None:
    """Gradio's /schema (its API page's MCP tab builds client configs from it) names the header
    for the five run tools, so a client is told where the key goes."""
    schema = httpx.get(mcp_url(app) + "schema", timeout=30).json()
    headers = {t["name"]: t["meta"].get("headers", []) for t in schema}
    for name in list(TOOLS)[:5]:
        assert headers[name] == ["x-replicate-api-token"], name
    assert headers["grab_frame"] == []


def test_text_to_video_reports_progress_and_returns_the_video_and_summary(
        app: LaunchedApp) -> None:
    notes: list[tuple[float, float | None, str | None]] = []
    result = call(mcp_url(app), "text_to_video",
                  {"prompt": "A calm sea at dawn", "duration": 5, "mode": "std",
                   "aspect_ratio": "1:1"}, notes=notes)
    url, summary = video_and_summary(result)
    assert summary["status"] == "succeeded" and summary["backend"] == "simulator"
    assert summary["input"]["prompt"] == "A calm sea at dawn"
    assert summary["output"]["duration"] > 0 and summary["output"]["width"] > 0
    video = httpx.get(url, timeout=30)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"  # an MP4 served by the app
    messages = [m for _d, _t, m in notes if m]
    # The run's own stages arrive as progress notifications while it waits on the runner.
    assert any("Generating" in m or "Starting" in m for m in messages), messages
    assert [d for d, _t, _m in notes] == sorted(d for d, _t, _m in notes)


def test_a_bad_argument_comes_back_as_a_clear_tool_error(app: LaunchedApp) -> None:
    result = call(mcp_url(app), "text_to_video", {"prompt": "A calm sea", "duration": 7})
    assert result.isError
    assert "5 or 10" in " ".join(texts(result))


def test_a_video_tool_takes_a_data_url(app: LaunchedApp, clip: Path) -> None:
    result = call(mcp_url(app), "grab_frame", {"video": data_url(clip, "video/mp4"), "t": 1.0})
    assert frame_size(result) == (320, 180)


def test_a_list_of_images_goes_in_as_data_urls(app: LaunchedApp, tmp_path: Path) -> None:
    """A list-of-files parameter (reference_images) validates and arrives as files."""
    images = [make_image(tmp_path / "a.png", size=(640, 480)),
              make_image(tmp_path / "b.jpg", size=(500, 500), fmt="JPEG")]
    result = call(mcp_url(app), "references_to_video", {
        "prompt": "<<<image_1>>> waves at <<<image_2>>>", "duration": 5, "mode": "std",
        "reference_images": [data_url(images[0], "image/png"), data_url(images[1], "image/jpeg")]})
    _url, summary = video_and_summary(result)
    assert summary["status"] == "succeeded"
    assert len(summary["input"]["reference_images"]) == 2


def test_a_video_tool_takes_an_http_url(app: LaunchedApp, clip: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """An http URL is downloaded by Gradio. Gradio refuses hosts that are not public (SSRF
    protection): its own allow-list lets this test's 127.0.0.1 server stand in for one."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(clip.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(gradio.processing_utils, "PUBLIC_HOSTNAME_WHITELIST",
                        [*gradio.processing_utils.PUBLIC_HOSTNAME_WHITELIST, "127.0.0.1"])
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{clip.name}"
        assert frame_size(call(mcp_url(app), "grab_frame", {"video": url, "t": -0.0})) == (320, 180)
        result = call(mcp_url(app), "join_clips", {"clips": [url, data_url(clip, "video/mp4")]})
        assert not result.isError, texts(result)
        joined = httpx.get(texts(result)[0], timeout=30)
        assert joined.status_code == 200 and joined.content[4:8] == b"ftyp"
    finally:
        server.shutdown()
        server.server_close()


def _files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and needle in path.read_bytes():
            hits.append(str(path))
    return hits


def test_a_header_key_is_used_for_that_call_only_and_never_shown(
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    alpha = "r8_" "McpAlphaKeyForTheTest0123456789abcdef"
    bravo = "mcp-bravo-plain-key-31415926"  # not token-shaped: only exact redaction would hide it
    args = {"prompt": "A calm sea", "duration": 5, "mode": "std"}
    shown: list[str] = []
    with running_simulator() as (base_url, state), launched_app(
            backend="replicate", backend_forced=True, base_url=base_url) as app:
        url = mcp_url(app)
        # No host key: without a header there is nothing to run with.
        refused = call(url, "text_to_video", args)
        assert refused.isError and "no key" in " ".join(texts(refused)).lower()
        runs = {}
        for key in (alpha, bravo):
            result = call(url, "text_to_video", args, headers={"X-Replicate-Api-Token": key})
            _video, summary = video_and_summary(result)
            assert summary["backend"] == "replicate"
            runs[key] = summary["prediction_id"]
            shown += texts(result)
        # The simulator records which key made each prediction, and every request about it.
        for key, pid in runs.items():
            assert state.predictions[pid].key == key_marker(key)
            about = [r for r in state.requests if pid in r.path]
            assert about and {r.key for r in about} == {key_marker(key)}
        # The key was for those calls only: the next call without it has none.
        again = call(url, "text_to_video", args)
        assert again.isError and "no key" in " ".join(texts(again)).lower()
        shown += texts(refused) + texts(again)
        with httpx.Client(base_url=app.url, timeout=30) as http:
            shown += [http.get(MCP_PATH.lstrip("/") + "schema").text, http.get("config").text]
        files = [Path(app.studio.data_dir), Path(os.environ["GRADIO_TEMP_DIR"])]
        hits = [h for root in files for key in (alpha, bravo)
                for h in _files_containing(root, key.encode())]
    out, err = capfd.readouterr()
    assert caplog.records, "no log captured: the search below would be vacuous"
    text = "\n".join([*shown, out, err, caplog.text,
                      *(repr(r.args) + r.getMessage() for r in caplog.records)])
    for key in (alpha, bravo):
        assert key not in text
    assert hits == []  # not in the library's rows or any file the app or Gradio wrote


def test_kling_mcp_0_serves_no_mcp_endpoint() -> None:
    assert load_settings({}).mcp is True
    assert load_settings({"KLING_MCP": "0"}).mcp is False
    with pytest.raises(ValueError, match="KLING_MCP must be 1 or 0"):
        load_settings({"KLING_MCP": "maybe"})
    assert mcp_enabled(Settings(app_password=Secret("pw"))) is False  # MCP cannot log in
    with launched_app(mcp=False) as app:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "test", "version": "0"}}}
        with httpx.Client(timeout=30) as http:
            answer = http.post(mcp_url(app), json=init,
                               headers={"Accept": "application/json, text/event-stream"})
            assert answer.status_code >= 400
            assert "jsonrpc" not in answer.text
            assert http.get(mcp_url(app) + "schema").status_code == 404
            assert http.get(app.url + "config").json()["mcp_server"] is False
