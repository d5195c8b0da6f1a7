"""/grab_frame and /join_clips through gradio_client against the launched app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from kling_ui.media.probe import probe_video
from tests.media_factory import make_image, make_video
from tests.test_media_frames import decoded_frame, psnr
from tests.ui_fixtures import LaunchedApp, launched_app


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


@pytest.fixture(scope="module")
def client(app: LaunchedApp) -> Client:
    return Client(app.url, verbose=False)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("api-seq")
    return {
        "wide": Path(make_video(d / "wide.mp4", seconds=1, size=(320, 180), fps=24)),
        "tall": Path(make_video(d / "tall.mp4", seconds=1, size=(180, 320), fps=30, audio=False)),
        "png": Path(make_image(d / "still.png", size=(320, 180))),
    }


def _video_path(out: object) -> str:
    return str(out["video"] if isinstance(out, dict) else out)


def test_endpoints_are_listed_with_their_parameters(client: Client) -> None:
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in info["/grab_frame"]["parameters"]] == ["video", "t"]
    assert [p["parameter_name"] for p in info["/join_clips"]["parameters"]] == [
        "clips", "crossfade", "size"]


@pytest.mark.parametrize(("t", "index"), [(0.5, 12), (-0.25, 18), (-0.0, 23)])
def test_grab_frame_returns_the_frame_as_png(client: Client, media: dict[str, Path],
                                             tmp_path: Path, t: float, index: int) -> None:
    out = client.predict(video=handle_file(str(media["wide"])), t=t, api_name="/grab_frame")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (320, 180)
    assert psnr(out, decoded_frame(media["wide"], index, tmp_path / "ref.png")) > 50


def test_join_clips_returns_one_video(client: Client, media: dict[str, Path]) -> None:
    out = client.predict(clips=[handle_file(str(media["wide"])), handle_file(str(media["tall"]))],
                         crossfade=0.25, api_name="/join_clips")
    info = probe_video(_video_path(out))
    assert (info.width, info.height, info.fps) == (320, 180, 24)
    assert info.duration == pytest.approx(1.75, abs=2 / 24)
    assert info.has_audio


@pytest.mark.parametrize(("size", "expected"), [
    ("first", (320, 180)), ("largest", (320, 180)), ("1080p", (1920, 1080)), ("720p", (1280, 720)),
])
def test_join_clips_at_the_chosen_size(client: Client, media: dict[str, Path], size: str,
                                       expected: tuple[int, int]) -> None:
    """/join_clips takes the output size (issue #24): a wide clip then a tall one."""
    out = client.predict(clips=[handle_file(str(media["wide"])), handle_file(str(media["tall"]))],
                         size=size, api_name="/join_clips")
    info = probe_video(_video_path(out))
    assert (info.width, info.height) == expected


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"video": "wide", "t": 2.0}, r"t = 2 s is outside this clip, which lasts 1\.000 s"),
    ({"video": "png", "t": 0.0}, r"still image, not a video"),
    ({"video": None, "t": 0.0}, r"The video is missing"),  # required (issue #22): sent empty
])
def test_grab_frame_bad_input(client: Client, media: dict[str, Path], kwargs: dict[str, object],
                              message: str) -> None:
    if kwargs.get("video"):
        kwargs["video"] = handle_file(str(media[str(kwargs["video"])]))
    with pytest.raises(AppError, match=message):
        client.predict(**kwargs, api_name="/grab_frame")


@pytest.mark.parametrize(("names", "crossfade", "message"), [
    (["wide"], 0.0, r"at least 2 clips; got only one clip"),
    (["wide", "png"], 0.0, r"Clip 2 \(still.png\): This file is a still image"),
    (["wide", "tall"], 0.9, r"crossfade of 0.9 s is longer than half the shortest clip"),
    (["wide"] * 21, 0.0, r"21 clips is more than the 20"),
    (["wide", "tall"], -1.0, r"The output size '8k' is not one of first, largest, 1080p, 720p"),
])
def test_join_clips_bad_input(client: Client, media: dict[str, Path], names: list[str],
                              crossfade: float, message: str) -> None:
    clips = [handle_file(str(media[n])) for n in names]
    size = "8k" if crossfade < 0 else "first"  # -1: the row that sends a size not offered
    with pytest.raises(AppError, match=message):
        client.predict(clips=clips, crossfade=max(crossfade, 0.0), size=size,
                       api_name="/join_clips")
