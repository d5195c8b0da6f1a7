"""Joining clips: one size, constant fps, the right length, and sound from the first frame to the last.

The clips differ on purpose: 1280x720@24 with sound, 720x1280@30 silent (no audio stream at all),
1920x1080@60 with sound. Each is 1.5 s.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kling_ui.core.errors import InputError
from kling_ui.core.models import VideoInfo
from kling_ui.media.ffmpeg import ffmpeg_exe
from kling_ui.media.frames import count_frames, frame_clock, grab_frame
from kling_ui.media.join import MAX_CLIPS, SIZES, JoinPlan, join_clips, output_size, plan_join
from kling_ui.media.probe import probe_video
from tests.media_factory import make_video
from tests.test_media_frames import decoded_frame, psnr

SECONDS = 1.5


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[VideoInfo]:
    d = tmp_path_factory.mktemp("join")
    paths = [
        make_video(d / "wide24.mp4", seconds=SECONDS, size=(1280, 720), fps=24),
        make_video(d / "tall30.mp4", seconds=SECONDS, size=(720, 1280), fps=30, audio=False),
        make_video(d / "full60.mp4", seconds=SECONDS, size=(1920, 1080), fps=60,
                   pattern="smptebars"),
    ]
    return [probe_video(p) for p in paths]


def _join(clips: list[VideoInfo], out: Path, **kw: object) -> tuple[JoinPlan, VideoInfo]:
    durations = [frame_clock(c).duration for c in clips]
    plan = join_clips(clips, durations, str(out), **kw)  # type: ignore[arg-type]
    return plan, probe_video(str(out))


def audio_seconds(path: str) -> float:
    """How long the audio stream runs, read packet by packet."""
    err = ffmpeg_stderr("-i", path, "-map", "0:a:0", "-c", "copy", "-f", "null", "-")
    h, m, s = re.findall(r"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)", err)[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def mean_volume(path: str, start: float, end: float) -> float:
    """Mean volume in dB of the audio between start and end (s)."""
    err = ffmpeg_stderr("-i", path, "-af", f"atrim={start}:{end},volumedetect", "-f", "null", "-")
    return float(re.findall(r"mean_volume: (-?[\d.]+|-inf) dB", err)[-1])


def ffmpeg_stderr(*args: str) -> str:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True,
                          text=True, check=True).stderr


@pytest.fixture(scope="module", params=[0.0, 0.5], ids=["cut", "crossfade"])
def joined(request: pytest.FixtureRequest, clips: list[VideoInfo],
           tmp_path_factory: pytest.TempPathFactory) -> tuple[float, JoinPlan, VideoInfo]:
    out = tmp_path_factory.mktemp("joined") / "joined.mp4"
    return (request.param, *_join(clips, out, crossfade=request.param))


def test_join_conforms_size_rate_length_and_sound(
        joined: tuple[float, JoinPlan, VideoInfo]) -> None:
    crossfade, plan, out = joined
    expected = 3 * SECONDS - 2 * crossfade
    assert (out.width, out.height) == (1280, 720)  # the first clip's size
    assert out.fps == 24 and not out.variable_fps
    assert out.duration == pytest.approx(expected, abs=2 / 24)
    frames, _ = count_frames(out.path)
    assert frames == plan.total_frames == round(expected * 24)
    assert out.has_audio
    assert audio_seconds(out.path) == pytest.approx(expected, abs=2 / 24)
    # The sound follows its picture: tone, silence for the silent clip, tone again.
    first, second = SECONDS - crossfade, 2 * SECONDS - 2 * crossfade
    assert mean_volume(out.path, 0.2, first - 0.2) > -40
    assert mean_volume(out.path, first + crossfade + 0.2, second - 0.2) < -80
    assert mean_volume(out.path, second + crossfade + 0.2, expected - 0.2) > -40


def test_join_pillarboxes_a_tall_clip(joined: tuple[float, JoinPlan, VideoInfo],
                                      tmp_path: Path) -> None:
    crossfade, _, out = joined
    middle_of_second = SECONDS - crossfade + SECONDS / 2
    frame = grab_frame(out, middle_of_second, str(tmp_path / "tall.png"))
    px = np.asarray(Image.open(frame).convert("L"), dtype=np.float64)
    assert px.shape == (720, 1280)
    assert px[:, :400].max() < 30 and px[:, -400:].max() < 30  # black bars each side
    assert px[:, 560:720].mean() > 60  # the picture in the middle


def test_join_to_a_given_size_and_the_first_clips_rate(clips: list[VideoInfo],
                                                       tmp_path: Path) -> None:
    order = [clips[1], clips[0]]
    plan, out = _join(order, tmp_path / "joined.mp4", size=(1080, 1920), fps=None)
    assert (out.width, out.height) == (1080, 1920)
    assert out.fps == 30 and plan.fps == 30
    assert out.duration == pytest.approx(2 * SECONDS, abs=2 / 30)
    assert audio_seconds(out.path) == pytest.approx(2 * SECONDS, abs=2 / 30)


def test_join_of_silent_clips_still_has_sound_throughout(tmp_path: Path) -> None:
    paths = [make_video(tmp_path / f"s{i}.mp4", seconds=1, size=(320, 240), fps=24, audio=False)
             for i in range(2)]
    _, out = _join([probe_video(p) for p in paths], tmp_path / "joined.mp4", crossfade=0.25)
    assert out.has_audio
    assert audio_seconds(out.path) == pytest.approx(1.75, abs=2 / 24)


def test_hard_cut_keeps_each_frame(tmp_path: Path) -> None:
    """Without a crossfade the joined frames are the clips' own frames (same size and rate)."""
    a = make_video(tmp_path / "a.mp4", seconds=1, size=(320, 240), fps=24, audio=False)
    b = make_video(tmp_path / "b.mp4", seconds=1, size=(320, 240), fps=24, audio=False,
                   pattern="smptebars")
    _, out = _join([probe_video(a), probe_video(b)], tmp_path / "joined.mp4", size=(320, 240))
    got = decoded_frame(out.path, 24, tmp_path / "cut.png")  # first frame of the second clip
    assert psnr(got, decoded_frame(b, 0, tmp_path / "b0.png")) > 30
    assert psnr(got, decoded_frame(a, 23, tmp_path / "a23.png")) < 20


def _info(duration: float = 2.0, fps: float = 24.0) -> VideoInfo:
    return VideoInfo(path="x.mp4", container="mp4", video_codec="h264", duration=duration,
                     width=1280, height=720, fps=fps, bytes=1)


@pytest.mark.parametrize(("count", "crossfade", "message"), [
    (1, 0.0, r"at least 2 clips; got only one clip"),
    (0, 0.0, r"at least 2 clips; got no clip"),
    (MAX_CLIPS + 1, 0.0, rf"{MAX_CLIPS + 1} clips is more than the {MAX_CLIPS}"),
    (2, 1.5, r"crossfade of 1.5 s is longer than half the shortest clip \(clip 2 lasts 1.00 s\)"),
    (2, -1.0, r"must be 0 s or more"),
])
def test_plan_refuses_joins_that_cannot_work(count: int, crossfade: float, message: str) -> None:
    infos = [_info(), _info(1.0)] if count == 2 else [_info()] * count
    with pytest.raises(InputError, match=message):
        plan_join(infos, [i.duration for i in infos], crossfade=crossfade)


def test_plan_rounds_the_crossfade_to_frames_and_subtracts_it() -> None:
    plan = plan_join([_info(2.0), _info(3.0), _info(2.0)], [2.0, 3.0, 2.0], crossfade=0.52)
    assert plan.crossfade_frames == 12
    assert plan.duration == pytest.approx(7.0 - 2 * 0.5)
    assert plan_join([_info(), _info()], [2.0, 2.0], crossfade=1.0).crossfade == 1.0


@pytest.mark.parametrize(("order", "choice", "size"), [
    ([0, 1, 2], "first", (1280, 720)),  # today's: the first clip's
    ([0, 1, 2], "largest", (1920, 1080)),
    ([0, 1, 2], "1080p", (1920, 1080)),
    ([0, 1, 2], "720p", (1280, 720)),
    ([1, 0, 2], "first", (720, 1280)),
    ([1, 0, 2], "largest", (1920, 1080)),
    ([1, 0, 2], "1080p", (1080, 1920)),  # the first clip's shape: tall
    ([1, 0, 2], "720p", (720, 1280)),
])
def test_output_size_choices(clips: list[VideoInfo], order: list[int], choice: str,
                             size: tuple[int, int]) -> None:
    """The joiner's output size (issue #24): first clip, largest, 1080p, 720p."""
    assert output_size([clips[i] for i in order], choice) == size


def test_output_size_keeps_odd_shapes_even_and_refuses_unknown_choices() -> None:
    square = VideoInfo(path="s.mp4", container="mp4", video_codec="h264", duration=1.0,
                       width=500, height=500, fps=24.0, bytes=1)
    wide = VideoInfo(path="w.mp4", container="mp4", video_codec="h264", duration=1.0,
                     width=1000, height=420, fps=24.0, bytes=1)
    assert output_size([square, wide], "1080p") == (1080, 1080)
    assert output_size([wide, square], "720p") == (1714, 720)
    assert output_size([square, wide], "largest") == (1000, 420)
    assert SIZES == ("first", "largest", "1080p", "720p")
    with pytest.raises(InputError, match=r"'4k' is not one of first, largest, 1080p, 720p"):
        output_size([square], "4k")


def test_join_at_the_largest_clips_size(clips: list[VideoInfo], tmp_path: Path) -> None:
    """A 720p clip joined with a 1080p one at "largest": the joined clip is 1080p."""
    order = [clips[0], clips[2]]
    _, out = _join(order, tmp_path / "joined.mp4", size=output_size(order, "largest"))
    assert (out.width, out.height) == (1920, 1080)
