"""Splice-back and comparison exports: sizes, lengths, sound, and the frames where they belong."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kling_ui.core.errors import InputError
from kling_ui.media import comparison, splice
from kling_ui.media.ffmpeg import run_ffmpeg
from kling_ui.media.motion import audio_envelope
from kling_ui.media.probe import probe_image, probe_video
from tests.media_factory import make_image, make_video
from tests.motion_clips import pan_clip

pytestmark = pytest.mark.slow

START, WINDOW = 3.0, 4.0


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("splice")
    return {
        # the whole clip: 10 s, 640x360, 30 fps, a steady tone
        "original": Path(make_video(d / "original.mp4", seconds=10, size=(640, 360), fps=30)),
        # the edit of [3, 7): square (pillar-boxed when put back), static bars, 24 fps, gated tone
        "edited": pan_clip(d / "edited.mp4", which="b", seconds=WINDOW, size=(480, 480), fps=24),
        "silent": Path(make_video(d / "silent.mp4", seconds=4, size=(320, 240), fps=24,
                                  audio=False)),
        "frame": Path(make_image(d / "frame.png", size=(400, 300))),
    }


def psnr(a: Path, b: Path, start: float, length: float, *, fit: tuple[int, int] | None = None
         ) -> float:
    """Average PSNR (dB) of `a` against `b` over [start, start + length) of `a`.

    With `fit`, `b` is a clip of its own from 0 s, fitted into that size like the splice does.
    """
    b_seek = [] if fit else ["-ss", f"{start}"]
    chain = "setsar=1,format=yuv420p"
    if fit:
        w, h = fit
        chain = (f"fps=30,scale={w}:{h}:force_original_aspect_ratio=decrease,"
                 f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,{chain}")
    err = run_ffmpeg(["-ss", f"{start}", "-t", f"{length}", "-i", str(a), *b_seek,
                      "-t", f"{length}", "-i", str(b), "-lavfi",
                      f"[0:v]setsar=1,format=yuv420p,setpts=PTS-STARTPTS[x];"
                      f"[1:v]{chain},setpts=PTS-STARTPTS[y];[x][y]psnr", "-f", "null", "-"]).stderr
    found = re.search(r"PSNR .*average:([\d.]+|inf)", err)
    assert found, err[-500:]
    return float(found.group(1))


def test_splice_keeps_the_original_around_the_edit(files: dict[str, Path], tmp_path: Path
                                                   ) -> None:
    orig = probe_video(str(files["original"]))
    out = splice.splice_back(orig, probe_video(str(files["edited"])), str(tmp_path / "s.mp4"),
                             start=START)
    got = probe_video(out)
    assert (got.width, got.height, got.fps) == (640, 360, 30)
    assert got.duration == pytest.approx(orig.duration, abs=0.05)
    assert len(audio_envelope(out)) / 100 == pytest.approx(orig.duration, abs=0.1)
    # Outside the window: the original's frames, up to encoding loss.
    assert psnr(Path(out), files["original"], 0, START - 0.1) > 38
    assert psnr(Path(out), files["original"], START + WINDOW + 0.1, 2.8) > 38
    # Inside: the edit, pillar-boxed into 640x360, not the original.
    assert psnr(Path(out), files["original"], START + 0.1, WINDOW - 0.2) < 20
    assert psnr(Path(out), files["edited"], START, WINDOW - 0.1, fit=(640, 360)) > 28
    # The original's steady tone plays throughout (audio="original").
    env = audio_envelope(out)
    assert env[int((START + 1) * 100): int((START + 3) * 100)].min() > 0.05


def test_splice_with_the_outputs_sound_and_crossfades(files: dict[str, Path], tmp_path: Path
                                                      ) -> None:
    orig = probe_video(str(files["original"]))
    out = splice.splice_back(orig, probe_video(str(files["edited"])), str(tmp_path / "o.mp4"),
                             start=START, audio="output", crossfade=0.5)
    got = probe_video(out)
    assert got.duration == pytest.approx(orig.duration, abs=0.05)
    env = audio_envelope(out)
    assert len(env) / 100 == pytest.approx(orig.duration, abs=0.1)
    inside = env[int((START + 0.6) * 100): int((START + WINDOW - 0.6) * 100)]
    outside = np.concatenate([env[20: int((START - 0.6) * 100)],
                              env[int((START + WINDOW + 0.6) * 100): -20]])
    assert inside.min() < 0.01 < outside.min()  # the edit's gated tone has gaps; the tone has none
    # Mid-fade, the picture is a mix: close to neither side.
    assert 12 < psnr(Path(out), files["original"], START + 0.2, 0.1) < 38
    assert psnr(Path(out), files["original"], 1.0, 1.5) > 38


@pytest.mark.parametrize(("kw", "message"), [
    ({"start": 9.95}, "outside the original"),
    ({"start": -2.0}, "0 or more"),
    ({"start": 1.0, "audio": "both"}, "audio must be one of"),
    ({"start": 1.0, "crossfade": 5.0}, "crossfade must be between"),
    # a 4 s edit from 8 s runs 2 s past the end: refused, never cut short in silence (#24)
    ({"start": 8.0}, r"run past the end \(10\.0 s\)\. Start it at 6\.0 s or earlier"),
    ({"start": 7.0, "length": 4.0}, "run past the end"),
])
def test_bad_splices_are_refused(files: dict[str, Path], tmp_path: Path, kw: dict, message: str
                                 ) -> None:
    with pytest.raises(InputError, match=message):
        splice.splice_back(probe_video(str(files["original"])), probe_video(str(files["edited"])),
                           str(tmp_path / "x.mp4"), **kw)


@pytest.mark.slow
def test_splice_of_a_1080p_original_keeps_its_size_and_is_not_baseline(tmp_path: Path) -> None:
    """A 20 s 1080p original, compressed as a camera or an editor would (x264 medium CRF 23),
    spliced with a 5 s edit: about the original's size, High profile (issue #24)."""
    medium = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p")
    original = pan_clip(tmp_path / "o.mp4", which="a", seconds=20, size=(1920, 1080), fps=24,
                        x264=medium)
    edit = pan_clip(tmp_path / "e.mp4", which="b", seconds=5, size=(1920, 1080), fps=24,
                    x264=medium)
    orig = probe_video(str(original))
    began = time.monotonic()
    out = splice.splice_back(orig, probe_video(str(edit)), str(tmp_path / "s.mp4"), start=7.0)
    print(f"splice: {time.monotonic() - began:.1f} s, {Path(out).stat().st_size / orig.bytes:.2f}x")
    assert Path(out).stat().st_size <= 1.5 * orig.bytes
    profile = run_ffmpeg_probe(out)
    assert profile == "High", profile
    assert psnr(Path(out), original, 1.0, 3.0) > 36  # outside the window: the original's frames


def run_ffmpeg_probe(path: str) -> str:
    """The H.264 profile ffmpeg names for the file's video ("High", "Constrained Baseline")."""
    err = run_ffmpeg(["-i", path, "-frames:v", "1", "-f", "null", "-"]).stderr
    found = re.search(r"Video: h264 \(([^)]+)\)", err)
    assert found, err[-500:]
    return found.group(1)


def test_splice_output_sound_needs_an_edit_with_sound(files: dict[str, Path], tmp_path: Path
                                                      ) -> None:
    with pytest.raises(InputError, match="no sound"):
        splice.splice_back(probe_video(str(files["original"])), probe_video(str(files["silent"])),
                           str(tmp_path / "x.mp4"), start=1.0, audio="output")


@pytest.mark.parametrize(("layout", "size", "audio"), [
    ("side_by_side", (960, 480), "output"),
    ("wipe", (480, 480), "original"),
    ("stacked", (480, 960), "none"),
])
def test_every_layout_and_sound(files: dict[str, Path], tmp_path: Path, layout: str,
                                size: tuple[int, int], audio: str) -> None:
    out = comparison.export_comparison(probe_video(str(files["original"])),
                                       probe_video(str(files["edited"])),
                                       str(tmp_path / f"{layout}.mp4"), layout=layout, audio=audio)
    got = probe_video(out)
    assert (got.width, got.height) == size
    assert got.duration == pytest.approx(WINDOW, abs=0.1)
    assert got.has_audio == (audio != "none")
    if audio != "none":
        env = audio_envelope(out)
        assert len(env) / 100 == pytest.approx(WINDOW, abs=0.1)
        # the edit's tone is gated (gaps), the original's is steady
        assert (env.min() < 0.01) == (audio == "output")


def test_1080p_pair_gives_1080p_panels_and_start_matches_the_window(tmp_path: Path) -> None:
    """Two 1080p clips: 1920x1080 panels (not 960x540), and with `start` the original's half
    shows the output's own window (issue #24: a 7-11 s edit was compared with 0-4 s)."""
    medium = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p")
    original = pan_clip(tmp_path / "o.mp4", which="a", seconds=12, size=(1920, 1080), fps=24,
                        x264=medium)
    cut = tmp_path / "cut.mp4"  # the "output": the original's 7-11 s, as an edit keeping it
    run_ffmpeg(["-ss", "7", "-t", "4", "-i", str(original), *medium, "-c:a", "aac", "-y",
                str(cut)])
    orig, out = probe_video(str(original)), probe_video(str(cut))

    def halves(start: float) -> float:
        made = comparison.export_comparison(orig, out, str(tmp_path / f"c{start:g}.mp4"),
                                            layout="side_by_side", audio="none", start=start)
        got = probe_video(made)
        assert (got.width, got.height) == (3840, 1080)
        # Left panel against right panel, below the labels: the same frames when aligned.
        err = run_ffmpeg(["-i", made, "-lavfi",
                          "[0:v]split[l][r];[l]crop=1920:880:0:200[x];[r]crop=1920:880:1920:200[y];"
                          "[x][y]psnr", "-f", "null", "-"]).stderr
        found = re.search(r"PSNR .*average:([\d.]+|inf)", err)
        assert found, err[-500:]
        return float(found.group(1))

    assert halves(7.0) > 30
    assert halves(0.0) < 20


def test_wipe_shows_both_sides(files: dict[str, Path], tmp_path: Path) -> None:
    """At t=0 the line is in the middle: the left half is the original, the right the edit."""
    out = comparison.export_comparison(probe_video(str(files["original"])),
                                       probe_video(str(files["edited"])),
                                       str(tmp_path / "w.mp4"), layout="wipe", audio="none")
    frame = tmp_path / "w0.png"
    run_ffmpeg(["-i", out, "-frames:v", "1", "-y", str(frame)])
    side = tmp_path / "s0.png"
    out2 = comparison.export_comparison(probe_video(str(files["original"])),
                                        probe_video(str(files["edited"])),
                                        str(tmp_path / "s.mp4"), layout="side_by_side",
                                        audio="none")
    run_ffmpeg(["-i", out2, "-frames:v", "1", "-y", str(side)])
    w = np.asarray(Image.open(frame).convert("L")).astype(float)
    s = np.asarray(Image.open(side).convert("L")).astype(float)
    # rows below the labels; left quarter from the original half, right quarter from the edit
    assert np.abs(w[100:, 20:200] - s[100:, 20:200]).mean() < 8
    assert np.abs(w[100:, 300:460] - s[100:, 480 + 300: 480 + 460]).mean() < 8


def test_image_original_is_a_still(files: dict[str, Path], tmp_path: Path) -> None:
    out = comparison.export_comparison(probe_image(str(files["frame"])),
                                       probe_video(str(files["edited"])),
                                       str(tmp_path / "i.mp4"), layout="side_by_side")
    got = probe_video(out)
    assert (got.width, got.height) == (960, 480)
    assert got.duration == pytest.approx(WINDOW, abs=0.1)
    with pytest.raises(InputError, match="original has no sound"):
        comparison.export_comparison(probe_image(str(files["frame"])),
                                     probe_video(str(files["edited"])),
                                     str(tmp_path / "j.mp4"), audio="original")


def test_bad_export_options(files: dict[str, Path], tmp_path: Path) -> None:
    orig, edited = probe_video(str(files["original"])), probe_video(str(files["edited"]))
    with pytest.raises(InputError, match="layout must be one of"):
        comparison.export_comparison(orig, edited, str(tmp_path / "x.mp4"), layout="grid")
    with pytest.raises(InputError, match="audio must be one of"):
        comparison.export_comparison(orig, edited, str(tmp_path / "x.mp4"), audio="left")
    with pytest.raises(InputError, match="output has no sound"):
        comparison.export_comparison(orig, probe_video(str(files["silent"])),
                                     str(tmp_path / "x.mp4"))


def test_stills_sheet(files: dict[str, Path], tmp_path: Path) -> None:
    out = comparison.stills_sheet(probe_video(str(files["original"])),
                                  probe_video(str(files["edited"])), str(tmp_path / "s.png"))
    with Image.open(out) as im:
        assert im.format == "PNG"
        # 4 moments of 320 px, two rows (before, after) of 320x180 and 320x320 stills
        assert im.width >= 4 * 320 and im.height >= 180 + 320
