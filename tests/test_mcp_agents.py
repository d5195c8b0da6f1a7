"""An AI agent's session through the official `mcp` SDK over Streamable HTTP (issue #22): the run
tools and runs by id are listed with schemas an agent can trust, a run comes back as JSON with its
run_id, get_run fetches it, and no answer of any tool holds a Python repr or a server path."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.types import CallToolResult
from PIL import Image

from tests.test_mcp import call, data_url, mcp_url, with_session
from tests.ui_fixtures import LaunchedApp, launched_app, make_image, make_video

RUN_TOOLS = ("text_to_video", "frames_to_video", "references_to_video", "video_reference",
             "edit_video")
# Every closed choice of every tool, and the values it allows.
CLOSED = {
    "mode": ["std", "pro"],
    "aspect_ratio": ["16:9", "9:16", "1:1"],
    "model": ["kling-o1", "kling-v3-omni"],
    "layout": ["side_by_side", "wipe", "stacked"],
    "tool": list(RUN_TOOLS),
    "tab": list(RUN_TOOLS),
}
AUDIO = {"splice_back": ["original", "output"], "compare_export": ["output", "original", "none"]}
# The files each tool cannot do without.
REQUIRED_FILES = {
    "frames_to_video": {"start_image"},
    "references_to_video": {"reference_images"},
    "video_reference": {"reference_video"},
    "edit_video": {"reference_video"},
    "motion_report": {"original", "output"},
    "splice_back": {"original", "edited"},
    "compare_export": {"original", "output"},
    "compare_stills": {"original", "output"},
    "grab_frame": {"video"},
    "join_clips": {"clips"},
}
FILE_URL = re.compile(r"https?://[^\s\"']+/gradio_api/file=[^\s\"']+")


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=1.0) as launched:
        yield launched


def tools(app: LaunchedApp) -> dict[str, Any]:
    return {t.name: t for t in with_session(mcp_url(app), lambda s: s.list_tools()).tools}


def test_runs_by_id_are_tools_and_every_closed_choice_has_an_enum(app: LaunchedApp) -> None:
    listed = tools(app)
    assert {"get_run", "list_runs", "cancel_run", "estimate_cost"} <= set(listed)
    for name, tool in listed.items():
        assert "upload_file_to_gradio" not in (tool.description or ""), name
        props = tool.inputSchema["properties"]
        for param, schema in props.items():
            if param in CLOSED:
                assert schema.get("enum") == CLOSED[param], (name, param, schema)
            if param == "audio":
                assert schema.get("enum") == AUDIO[name], (name, schema)
            if param == "status":
                assert "succeeded" in schema.get("enum", []) and "canceled" in schema["enum"]
            if param == "duration":  # a range on the run tools, the union of the models'
                assert schema.get("minimum") == 3 and schema.get("maximum") == 15, (name, schema)
            is_file = "FileData" in json.dumps(schema) or schema.get("format") == "uri" or (
                schema.get("items", {}).get("format") == "uri")
            if is_file:
                assert "data: URL" in schema["description"], (name, param)
                assert "FileData" not in json.dumps(schema) and "path" not in json.dumps(schema)
        required = set(tool.inputSchema.get("required", []))
        assert REQUIRED_FILES.get(name, set()) <= required, (name, required)


def _json_of(result: CallToolResult) -> dict[str, Any]:
    assert not result.isError, [c.text for c in result.content if c.type == "text"]
    texts = [c.text for c in result.content if c.type == "text"]
    data = [t for t in texts if t.startswith("{")]
    assert len(data) == 1, texts
    value = json.loads(data[0])
    assert isinstance(value, dict)
    return value


def assert_clean(app: LaunchedApp, tool: str, result: CallToolResult) -> None:
    """No Python repr, no FileData, no server path in anything the tool answered (a file is
    named by its /gradio_api/file= URL only, which is served, not opened, by path)."""
    for block in result.content:
        if block.type == "image":
            with Image.open(io.BytesIO(base64.b64decode(block.data))) as im:
                assert im.size[0] > 0
            continue
        text = block.text
        bare = FILE_URL.sub("<url>", text)
        for needle in ("{'", "['", "FileData", "'path'", "/tmp", str(app.studio.data_dir),
                       "PosixPath", "Traceback"):
            assert needle not in bare, (tool, needle, text[:400])
        if text.startswith(("{", "[")):
            json.loads(text)


@pytest.mark.slow  # a run on the simulator and every media tool once: ~20 s
def test_an_agent_runs_fetches_and_every_answer_is_json_without_a_server_path(
        app: LaunchedApp, tmp_path: Path) -> None:
    url = mcp_url(app)
    notes: list[tuple[float, float | None, str | None]] = []
    ran = call(url, "text_to_video", {"prompt": "A calm sea at dawn", "duration": 5,
                                      "mode": "std", "aspect_ratio": "1:1"}, notes=notes)
    assert_clean(app, "text_to_video", ran)
    summary = _json_of(ran)
    run_id, key = summary["run_id"], summary["library_key"]
    assert summary["status"] == "succeeded"
    ours = [m for _d, _t, m in notes if m and m.startswith("Progress")]  # not Gradio's queue's
    assert ours and all(f"run_id={run_id}" in m for m in ours), ours  # named from the first on

    fetched = call(url, "get_run", {"run_id": run_id, "library_key": key})
    assert_clean(app, "get_run", fetched)
    run = _json_of(fetched)
    assert run["run_id"] == run_id and run["status"] == "succeeded" and run["has_output"]
    video = [c.text for c in fetched.content if c.type == "text" and "/gradio_api/file=" in c.text]
    assert len(video) == 1
    # Without the key, the run is not found (the shared library is not its library).
    assert call(url, "get_run", {"run_id": run_id}).isError
    listed = _json_of(call(url, "list_runs", {"library_key": key}))
    assert [r["run_id"] for r in listed["runs"]] == [run_id]
    cancel = call(url, "cancel_run", {"run_id": run_id, "library_key": key})
    assert_clean(app, "cancel_run", cancel)
    assert _json_of(cancel)["canceled"] is False  # it had ended: left as it is

    clip = make_video(tmp_path / "a.mp4", seconds=3, size=(320, 180), fps=24)
    clip2 = make_video(tmp_path / "b.mp4", seconds=3, size=(320, 180), fps=24)
    still = make_image(tmp_path / "s.png", size=(640, 480))
    a, b = data_url(clip, "video/mp4"), data_url(clip2, "video/mp4")
    calls: dict[str, dict[str, Any]] = {
        "estimate_cost": {"tool": "frames_to_video", "prompt": "go",
                          "start_image": data_url(still, "image/png")},
        "motion_report": {"original": a, "output": b},
        "compare_stills": {"original": a, "output": b},
        "compare_export": {"original": a, "output": b, "layout": "stacked"},
        "splice_back": {"original": a, "edited": b, "start": 0.0},
        "grab_frame": {"video": a, "t": 1.0},
        "join_clips": {"clips": [a, b]},
    }
    for tool, args in calls.items():
        result = call(url, tool, args)
        assert not result.isError, (tool, [c.text for c in result.content if c.type == "text"])
        assert_clean(app, tool, result)
    estimate = _json_of(call(url, "estimate_cost", calls["estimate_cost"]))
    assert estimate["ok"] and estimate["estimated_cost_usd"] > 0 and estimate["billed_seconds"] == 5
    report = call(url, "motion_report", calls["motion_report"])
    assert [c.type for c in report.content].count("image") == 1  # the plot, as an image
    assert 0.0 <= _json_of(report)["score"] <= 1.0
    for tool in ("compare_stills", "grab_frame"):
        content = call(url, tool, calls[tool]).content
        assert [c.type for c in content].count("image") == 1, (
            tool, [c.text for c in content if c.type == "text"])
