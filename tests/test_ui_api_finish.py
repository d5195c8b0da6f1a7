"""The finishing endpoints (issue #13) through gradio_client on the launched app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from kling_ui.media.probe import probe_video
from tests.media_factory import ffmpeg
from tests.motion_clips import pan_clip, variant
from tests.ui_fixtures import LaunchedApp, launched_app, make_fake_png, make_image, make_video

pytestmark = pytest.mark.slow

PARAMS = {
    "/motion_report": ["original", "output", "start"],
    "/splice_back": ["original", "edited", "start", "audio", "crossfade"],
    "/compare_export": ["original", "output", "layout", "audio", "start"],
    "/compare_stills": ["original", "output", "start"],
}


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


@pytest.fixture(scope="module")
def client(app: LaunchedApp) -> Client:
    return Client(app.url, verbose=False)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("finish-media")
    a = pan_clip(d / "a.mp4", which="a", seconds=5)
    graded = variant(a, d / "graded.mp4", "graded", seconds=5)
    window = d / "window.mp4"  # the graded copy of seconds 1..4: "the output" of a trimmed run
    ffmpeg("-ss", "1", "-t", "3", "-i", str(graded), "-c:v", "libx264", "-preset", "ultrafast",
           "-c:a", "aac", str(window))
    return {
        "a": a, "graded": graded, "window": window,
        "mirrored": variant(a, d / "mirrored.mp4", "mirrored", seconds=5),
        "clip": make_video(d / "clip.mp4", seconds=4, size=(720, 720), fps=30),
        "frame": make_image(d / "frame.png", size=(400, 300)),
        "fake": make_fake_png(d / "fake.png"),
    }


def _path(out: Any) -> str:
    return out["video"] if isinstance(out, dict) else out


def test_endpoints_are_listed_with_their_parameters_and_documented(client: Client,
                                                                   app: LaunchedApp) -> None:
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for endpoint, params in PARAMS.items():
        assert [p["parameter_name"] for p in named[endpoint]["parameters"]] == params
        assert named[endpoint]["description"], endpoint
    assert len(named["/motion_report"]["returns"]) == 2
    # Every parameter is explained under Args: (what an MCP tool's schema is built from).
    docs = {f"/{fn.api_name}": fn.fn.__doc__ or "" for fn in app.demo.fns.values()
            if fn.api_name and f"/{fn.api_name}" in PARAMS}
    assert set(docs) == set(PARAMS)
    for endpoint, params in PARAMS.items():
        args = docs[endpoint].split("Args:", 1)[1].split("Returns:", 1)[0]
        for name in params:
            assert re.search(rf"^\s+{name}: \S", args, re.M), (endpoint, name)


def test_motion_report_scores_a_faithful_edit_high_and_a_mirror_low(
        client: Client, media: dict[str, Path]) -> None:
    plot, figures = client.predict(original=handle_file(media["a"]),
                                   output=handle_file(media["graded"]), api_name="/motion_report")
    assert figures["score"] >= 0.85 and abs(figures["offset_s"]) < 0.05
    assert figures["frames_original"] == figures["frames_output"] == 120
    with Image.open(plot) as im:
        assert im.format == "PNG"
    _, bad = client.predict(original=handle_file(media["a"]),
                            output=handle_file(media["mirrored"]), api_name="/motion_report")
    assert bad["score"] <= 0.4 and bad["drift"]


def test_motion_report_of_a_window_of_the_whole_clip(client: Client,
                                                     media: dict[str, Path]) -> None:
    _, right = client.predict(original=handle_file(media["a"]), output=handle_file(media["window"]),
                              start=1.0, api_name="/motion_report")
    assert right["score"] >= 0.85 and right["duration_original"] == pytest.approx(3.0, abs=0.05)
    with pytest.raises(AppError, match="outside the original"):
        client.predict(original=handle_file(media["a"]), output=handle_file(media["window"]),
                       start=30, api_name="/motion_report")


@pytest.mark.parametrize(("endpoint", "kwargs", "message"), [
    ("/motion_report", {"original": "fake", "output": "graded"}, r"^original: .*not"),
    ("/motion_report", {"original": "a", "output": "frame"}, r"^output: .*"),
    ("/splice_back", {"original": "a", "edited": "window", "start": 1, "audio": "both"},
     "audio must be one of original, output"),
    ("/splice_back", {"original": "a", "edited": "window", "start": 4.9},
     "outside the original"),
    ("/compare_export", {"original": "a", "output": "graded", "layout": "grid"},
     "layout must be one of side_by_side, wipe, stacked"),
    ("/compare_export", {"original": "a", "output": "graded", "audio": "left"},
     "audio must be one of output, original, none"),
    ("/compare_export", {"original": "a", "output": "fake"}, r"^output: "),
])
def test_bad_input_is_refused_with_a_clear_message(client: Client, media: dict[str, Path],
                                                   endpoint: str, kwargs: dict[str, Any],
                                                   message: str) -> None:
    args = {k: handle_file(media[v]) if k in ("original", "output", "edited") else v
            for k, v in kwargs.items()}
    with pytest.raises(AppError, match=message):
        client.predict(**args, api_name=endpoint)


def test_splice_back_keeps_the_whole_clip(client: Client, media: dict[str, Path]) -> None:
    out = client.predict(original=handle_file(media["a"]), edited=handle_file(media["clip"]),
                         start=0.5, audio="original", crossfade=0.25, api_name="/splice_back")
    got = probe_video(_path(out))
    orig = probe_video(str(media["a"]))
    assert (got.width, got.height, got.fps) == (orig.width, orig.height, orig.fps)
    assert got.duration == pytest.approx(orig.duration, abs=0.05)
    assert got.has_audio


@pytest.mark.parametrize(("layout", "size"), [("side_by_side", (640, 240)), ("wipe", (320, 240)),
                                              ("stacked", (320, 480))])
def test_compare_export_layouts(client: Client, media: dict[str, Path], layout: str,
                                size: tuple[int, int]) -> None:
    out = client.predict(original=handle_file(media["a"]), output=handle_file(media["graded"]),
                         layout=layout, audio="output", api_name="/compare_export")
    got = probe_video(_path(out))
    assert (got.width, got.height) == size
    assert got.duration == pytest.approx(5.0, abs=0.1) and got.has_audio


def test_compare_export_with_a_start_frame_and_the_stills(client: Client,
                                                          media: dict[str, Path]) -> None:
    out = client.predict(original=handle_file(media["frame"]), output=handle_file(media["graded"]),
                         layout="side_by_side", audio="none", api_name="/compare_export")
    got = probe_video(_path(out))
    assert (got.width, got.height) == (640, 240) and not got.has_audio
    sheet = client.predict(original=handle_file(media["frame"]),
                           output=handle_file(media["graded"]), api_name="/compare_stills")
    with Image.open(sheet) as im:
        assert im.format == "PNG" and im.width >= 4 * 320


def test_edit_run_summary_carries_the_motion_report(client: Client,
                                                    media: dict[str, Path]) -> None:
    _, summary = client.predict(prompt="Make <<<video_1>>> look like a pencil sketch",
                                reference_video=handle_file(media["a"]), api_name="/edit_video")
    motion = summary["motion"]
    assert 0.0 <= motion["score"] <= 1.0
    assert motion["frames_output"] > 0 and motion["duration_output"] > 0
    assert motion["audio_offset_s"] == pytest.approx(0.0, abs=0.1)  # the sound was kept
