"""Frames out of a clip: the frame clock's arithmetic, and grabbed frames that equal the decoded ones.

Every grab is compared (PSNR) with the same frame decoded independently from the start, selected
by its index; a neighbouring frame must compare clearly worse, so a grab one frame off fails.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kling_ui.core.errors import InputError
from kling_ui.media.frames import FrameClock, frame_clock, grab_frame, shown_time
from kling_ui.media.probe import probe_video
from tests.media_factory import ffmpeg, make_video

FPS = 24
FRAMES = 48  # 2 s


def psnr(a: Path | str, b: Path | str) -> float:
    x = np.asarray(Image.open(a).convert("RGB"), dtype=np.float64)
    y = np.asarray(Image.open(b).convert("RGB"), dtype=np.float64)
    assert x.shape == y.shape, f"{x.shape} != {y.shape}"
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def decoded_frame(clip: Path | str, index: int, out: Path) -> Path:
    """Frame `index` decoded from the start and picked by count, with no seeking at all."""
    ffmpeg("-i", str(clip), "-an", "-vf", f"select=eq(n\\,{index}),format=rgb24",
           "-frames:v", "1", "-update", "1", str(out))
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s at 24 fps, moving pattern, B-frames and a keyframe every 12 frames (so seeks have to
    decode from a keyframe), audio, and a final frame painted solid red."""
    path = tmp_path_factory.mktemp("frames") / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i",
           f"testsrc2=s=320x240:r={FPS}:d=2,drawbox=x=0:y=0:w=iw:h=ih:color=red:t=fill"
           f":enable='eq(n\\,{FRAMES - 1})'",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
           "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "12", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-shortest", str(path))
    return path


@pytest.fixture(scope="module")
def clock(clip: Path) -> FrameClock:
    return frame_clock(probe_video(str(clip)))


def test_clock_counts_the_clip(clock: FrameClock) -> None:
    assert clock.frames == FRAMES
    assert clock.fps == FPS
    assert clock.duration == pytest.approx(2.0)


@pytest.mark.parametrize(("t", "index"), [
    (0.0, 0), (0.04, 0), (1 / 24, 1), (0.5, 12), (1.0, 24), (1.99, 47), (2.0, 47),
    (-0.0, 47), (-1 / 24, 47), (-0.5, 36), (-2.0, 0),
])
def test_clock_maps_times_to_frames(t: float, index: int) -> None:
    assert FrameClock(fps=24, frames=48).index_at(t) == index


def test_clock_steps_frames_and_stops_at_the_ends() -> None:
    c = FrameClock(fps=24, frames=48)
    assert c.step(0.5, 1) == pytest.approx(13 / 24)
    assert c.step(0.5, -1) == pytest.approx(11 / 24)
    assert c.step(0.0, -1) == 0.0
    assert c.step(-0.0, 5) == pytest.approx(47 / 24)
    assert c.index_at(c.step(1.0, 3)) == 27


@pytest.mark.parametrize("t", [2.01, 5.0, -2.01, math.inf, math.nan])
def test_clock_refuses_times_outside_the_clip(t: float) -> None:
    with pytest.raises(InputError, match=r"outside this clip|number of seconds"):
        FrameClock(fps=24, frames=48).index_at(t)


@pytest.mark.parametrize(("t", "index"), [
    (0.0, 0), (0.3, 7), (1.0, 24), (1.04, 24), (1.5 + 1 / 48, 36), (-0.5, 36), (-1.25, 18),
    (-2.0, 0),
])
def test_grabbed_frame_equals_the_decoded_frame(clip: Path, clock: FrameClock, tmp_path: Path,
                                                t: float, index: int) -> None:
    info = probe_video(str(clip))
    got = grab_frame(info, t, str(tmp_path / "grab.png"), clock=clock)
    same = psnr(got, decoded_frame(clip, index, tmp_path / "ref.png"))
    neighbour = index + 1 if index < FRAMES - 2 else index - 1
    other = psnr(got, decoded_frame(clip, neighbour, tmp_path / "next.png"))
    assert Image.open(got).format == "PNG"
    assert same > 50, f"t={t}: {same:.1f} dB against frame {index}"
    assert other < same - 10, f"t={t}: frame {neighbour} compares as well ({other:.1f} dB)"


@pytest.mark.parametrize("t", [-0.0, 2.0, -0.01])
def test_last_frame_is_the_real_last_frame(clip: Path, tmp_path: Path, t: float) -> None:
    got = grab_frame(probe_video(str(clip)), t, str(tmp_path / "last.png"))
    r, g, b = Image.open(got).convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert r > 200 and g < 60 and b < 60, "the final (red) frame was not the one grabbed"
    assert psnr(got, decoded_frame(clip, FRAMES - 1, tmp_path / "ref.png")) > 50


def test_second_to_last_frame_is_not_red(clip: Path, tmp_path: Path) -> None:
    got = grab_frame(probe_video(str(clip)), -1.5 / 24, str(tmp_path / "before.png"))
    r, g, b = Image.open(got).convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert not (r > 200 and g < 60 and b < 60)
    assert psnr(got, decoded_frame(clip, FRAMES - 2, tmp_path / "ref.png")) > 50


def test_grab_applies_rotation(tmp_path: Path) -> None:
    path = make_video(tmp_path / "turned.mp4", seconds=1, size=(320, 240), fps=24, audio=False,
                      rotate=90)
    info = probe_video(path)
    got = grab_frame(info, 0.5, str(tmp_path / "turned.png"))
    assert Image.open(got).size == (240, 320) == (info.width, info.height)
    assert psnr(got, decoded_frame(path, 12, tmp_path / "ref.png")) > 50


def test_grab_outside_the_clip_says_how_long_it_is(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"t = 3 s is outside this clip, which lasts 2\.000 s"):
        grab_frame(probe_video(str(clip)), 3.0, str(tmp_path / "x.png"))


@pytest.mark.parametrize("fps", [24, 25, 30, 60, 23.976, 29.97])
def test_the_pickers_shown_time_reads_back_as_the_same_frame(fps: float) -> None:
    # The frame picker shows 4.959, not 4.958333333: rounded up to the millisecond, each
    # frame's time still falls inside that frame, so typing it back picks the same one.
    clock = FrameClock(fps=fps, frames=600)
    for i in range(600):
        t = shown_time(clock.time_of(i))
        assert t == round(t, 3)
        assert clock.index_at(t) == i
    assert shown_time(119 / 24) == 4.959
